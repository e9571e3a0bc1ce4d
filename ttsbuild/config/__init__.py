"""Stage 0b, configuration: the schema (the one source of defaults), settings values, the project.

Owns: reading and validating ``config/config.yaml`` (once, at the start of a build or a CLI
command), the settings values each later stage reads, and path resolution inside the project.
May import: :mod:`ttsbuild.core`.
"""

from ttsbuild.config.project import Project, load_project, project_from_config
from ttsbuild.config.schema import DEFAULT_CONFIG_FILE, SCHEMA_PATH

__all__ = ["DEFAULT_CONFIG_FILE", "SCHEMA_PATH", "Project", "load_project", "project_from_config"]
