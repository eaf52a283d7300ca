"""The plugin authoring kit: pack scaffolding and documentation generated from the registry."""
