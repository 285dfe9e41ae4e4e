"""A real TAXII 2.1 server for the tests: `medallion` (the OASIS reference implementation) with its memory
backend, served over loopback by werkzeug in a thread. Objects are added straight to its backend, stamped
with the time they were added, as a publisher's would be."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.process import free_port

API_ROOT, COLLECTION = "trustgroup1", "91a7b528-80eb-42ed-a74d-c6fbd5a26116"
USER, PASSWORD = "feeder", "feed-password"
_started: dict[str, Any] = {}  # medallion's Flask app is a module-level singleton: one server per process


@dataclass
class Taxii:
    url: str  # the collection's URL, as a feed names it
    backend: Any

    def publish(self, *objects: dict[str, Any]) -> None:
        from medallion.common import get_timestamp

        self.backend.add_objects(API_ROOT, COLLECTION, {"objects": list(objects)}, get_timestamp())

    def clear(self) -> None:
        collection = self.backend.data[API_ROOT]["collections"][0]
        collection["objects"], collection["manifest"] = [], []


def _data(base: str) -> dict[str, Any]:
    collection = {
        "id": COLLECTION,
        "title": "IOCs",
        "can_read": True,
        "can_write": True,
        "media_types": ["application/stix+json;version=2.1"],
        "objects": [],
        "manifest": [],
    }
    return {
        "/discovery": {
            "title": "tests",
            "default": f"{base}/{API_ROOT}/",
            "api_roots": [f"{base}/{API_ROOT}/"],
        },
        API_ROOT: {
            "information": {
                "title": "Trust group",
                "versions": ["application/taxii+json;version=2.1"],
                "max_content_length": 10_000_000,
            },
            "status": [],
            "collections": [collection],
        },
    }


@contextmanager
def running_taxii(scratch: Path) -> Iterator[Taxii]:
    if "taxii" not in _started:
        from medallion import application_instance, register_blueprints, set_config
        from werkzeug.serving import make_server

        port = free_port()
        base = f"http://127.0.0.1:{port}"
        data = scratch / "taxii-data.json"
        data.write_text(json.dumps(_data(base)))
        config = {
            "users": {USER: PASSWORD},
            "taxii": {"max_page_size": 100},
            "backend": {
                "module": "medallion.backends.memory_backend",
                "module_class": "MemoryBackend",
                "filename": str(data),
            },
        }
        for name in ("users", "taxii", "backend"):
            set_config(application_instance, name, config)
        register_blueprints(application_instance)
        server = make_server("127.0.0.1", port, application_instance, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"{base}/{API_ROOT}/collections/{COLLECTION}/"
        _started["taxii"] = Taxii(url, application_instance.medallion_backend)
    taxii: Taxii = _started["taxii"]
    taxii.clear()
    yield taxii
