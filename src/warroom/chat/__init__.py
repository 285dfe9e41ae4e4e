"""Chat war rooms: a Slack channel per serious incident, Teams and Mattermost posts, and chat commands."""
