from pipeline_checks import *  # noqa: F401,F403  pylint: disable=wildcard-import,unused-wildcard-import
