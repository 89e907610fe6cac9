"""schemathesis hooks: a fresh Idempotency-Key for every generated request that carries a valid one.

Generated header values repeat ("0", "a", ...). A repeated key with another body is, correctly, a 422
`idempotency_key_reused`, which schemathesis would count as a valid request refused. Invalid keys are
left as generated, so their 400 is still checked.
"""

import re
import uuid

import schemathesis

VALID_KEY = re.compile(r"[!-~]{1,200}")


@schemathesis.hook
def before_call(context, case, kwargs):
    key = (case.headers or {}).get("Idempotency-Key")
    if isinstance(key, str) and VALID_KEY.fullmatch(key):
        case.headers["Idempotency-Key"] = uuid.uuid4().hex
