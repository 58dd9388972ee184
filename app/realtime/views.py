"""Catch-up over HTTP, for clients between connections (the socket offers the same)."""

import marshmallow as ma

from app.core.api import Blueprint
from app.core.auth import current_principal
from app.core.schemas import BaseSchema
from app.realtime import rooms, service

blp = Blueprint("realtime", __name__, url_prefix="/api/v1/realtime", description="实时推送补发")


class CatchUpArgs(BaseSchema):
    since = ma.fields.Integer(load_default=0, validate=ma.validate.Range(min=0, max=2**62))
    after = ma.fields.Integer(validate=ma.validate.Range(min=0, max=2**62))


class EnvelopeSchema(BaseSchema):
    id = ma.fields.Integer()
    key = ma.fields.String()
    kind = ma.fields.String()
    event_id = ma.fields.Integer(allow_none=True)
    payload = ma.fields.Dict()
    at = ma.fields.String()


class CatchUpSchema(BaseSchema):
    messages = ma.fields.List(ma.fields.Nested(EnvelopeSchema))
    after = ma.fields.Integer()
    more = ma.fields.Boolean()
    last_id = ma.fields.Integer()


@blp.route("/messages")
@blp.arguments(CatchUpArgs, location="query")
@blp.response(200, CatchUpSchema)
def catch_up_messages(args):
    """Messages for my rooms since the last id I saw (page on with `after` while `more`)."""
    messages, after, more = service.catch_up(
        rooms=rooms.for_principal(current_principal()), since=args["since"], after=args.get("after")
    )
    return {"messages": messages, "after": after, "more": more, "last_id": service.last_id()}
