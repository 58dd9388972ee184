"""Unbound singletons, attached to the app in create_app with init_app."""

from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from app.core.api import Api
from app.core.db import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
api = Api()
