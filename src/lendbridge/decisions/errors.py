"""The decision domain's refusals (RFC 9457 problems through ``kit.problems``)."""

from __future__ import annotations

from lendbridge.kit.errors import Conflict, NotFound


class PolicyNotFound(NotFound):
    code = "decisions.policy_not_found"
    title = "Decision policy not found"


class PolicyNotActivatable(Conflict):
    code = "decisions.policy_not_activatable"
    title = "This policy version cannot be activated"


class OwnPolicy(Conflict):
    status = 403
    code = "decisions.own_policy"
    title = "The proposer of a policy version cannot activate it"


class NoActivePolicy(Conflict):
    code = "decisions.no_active_policy"
    title = "The policy has no active version"
