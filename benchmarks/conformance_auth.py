"""pytest plugin for the client's system tests: Google auth faked at the network edge.

`bigquery.Client()` asks google-auth for Application Default Credentials; against local_bigquery
(BIGQUERY_EMULATOR_HOST) anonymous credentials and the project from GOOGLE_CLOUD_PROJECT stand in.
"""

from __future__ import annotations

import os

import google.auth
from google.auth.credentials import AnonymousCredentials


def _anonymous_default(*_args, **_kwargs):
    return AnonymousCredentials(), os.environ["GOOGLE_CLOUD_PROJECT"]


def pytest_configure(config):
    google.auth.default = _anonymous_default
