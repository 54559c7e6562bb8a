"""What a call does whatever the surface: chat orchestration, provider resolution, model sync."""
