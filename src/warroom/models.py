"""Imports every table so metadata is complete (Alembic and the schema test read Base.metadata)."""

from warroom.actions.models import ActionRun
from warroom.alerts.models import Alert, AlertEvent, IntakeBacklog, Integration, RawEvent, ServiceChange
from warroom.alerts.rules.models import AlertRule, Heartbeat, MaintenanceWindow, RoutingRule
from warroom.auth.models import ApiToken, SignInFailures, Team, TeamMember, User, WebSessionRecord
from warroom.catalog.models import Service, ServiceDependency
from warroom.chat.models import ChatCapture, ChatRoom, ChatUser
from warroom.comms.models import StakeholderRecipient
from warroom.crm.models import CrmEvent, CrmRule, CrmTicket
from warroom.db import Base
from warroom.doctor.models import DoctorFinding
from warroom.drills.models import DrillRun
from warroom.evidence.models import Evidence
from warroom.identity.models import GroupRule, ScimGroup, ScimGroupMember, ScimUser, SsoLogin, SsoProvider
from warroom.incidents.models import (
    ExitCheck,
    Incident,
    IncidentLink,
    IncidentParticipant,
    IncidentService,
    RoleAssignment,
    StatusUpdate,
    Task,
)
from warroom.intel.models import (
    AlertObservable,
    Feed,
    Finding,
    Indicator,
    Sighting,
    Software,
    Vulnerability,
)
from warroom.jobs.models import Job
from warroom.notify.models import ContactMethod, NotificationRule, OutgoingMessage
from warroom.observables.models import Asset, IncidentAsset, Observable, TaskAsset
from warroom.oncall.models import EscalationPolicy, EscalationStep, Schedule, ScheduleLayer, ScheduleOverride
from warroom.paging.models import Escalation
from warroom.procedure.models import ProcedureVersion
from warroom.reviews.models import ActionItem, Review, ReviewReviewer, ReviewTimelineEntry
from warroom.statuspage.models import (
    ComponentStatusChange,
    StatusComponent,
    StatusComponentService,
    StatusIncident,
    StatusIncidentComponent,
    StatusIncidentUpdate,
    StatusSubscriber,
    StatusSubscriberComponent,
)
from warroom.timeline.models import TimelineEvent
from warroom.tracker.models import JiraDelivery, JiraIssue, JiraRule

__all__ = [
    "ActionItem",
    "ActionRun",
    "Alert",
    "AlertEvent",
    "AlertObservable",
    "AlertRule",
    "ApiToken",
    "Asset",
    "Base",
    "ChatCapture",
    "ChatRoom",
    "ChatUser",
    "ComponentStatusChange",
    "ContactMethod",
    "CrmEvent",
    "CrmRule",
    "CrmTicket",
    "DoctorFinding",
    "DrillRun",
    "Escalation",
    "EscalationPolicy",
    "EscalationStep",
    "Evidence",
    "ExitCheck",
    "Feed",
    "Finding",
    "GroupRule",
    "Heartbeat",
    "Incident",
    "IncidentAsset",
    "IncidentLink",
    "IncidentParticipant",
    "IncidentService",
    "Indicator",
    "IntakeBacklog",
    "Integration",
    "JiraDelivery",
    "JiraIssue",
    "JiraRule",
    "Job",
    "MaintenanceWindow",
    "NotificationRule",
    "Observable",
    "OutgoingMessage",
    "ProcedureVersion",
    "RawEvent",
    "Review",
    "ReviewReviewer",
    "ReviewTimelineEntry",
    "RoleAssignment",
    "RoutingRule",
    "Schedule",
    "ScheduleLayer",
    "ScheduleOverride",
    "ScimGroup",
    "ScimGroupMember",
    "ScimUser",
    "Service",
    "ServiceChange",
    "ServiceDependency",
    "Sighting",
    "SignInFailures",
    "Software",
    "SsoLogin",
    "SsoProvider",
    "StakeholderRecipient",
    "StatusComponent",
    "StatusComponentService",
    "StatusIncident",
    "StatusIncidentComponent",
    "StatusIncidentUpdate",
    "StatusSubscriber",
    "StatusSubscriberComponent",
    "StatusUpdate",
    "Task",
    "TaskAsset",
    "Team",
    "TeamMember",
    "TimelineEvent",
    "User",
    "Vulnerability",
    "WebSessionRecord",
]
