"""The smallest policies, which tests extend with what they are about."""

ONE_APPROVAL = """\
version: 1
policy:
  approval: [reviewed]
rules:
  - name: reviewed
    requires:
      approvals: 1
      from: {permission: write}
"""
"""One approval from anyone with write permission."""

NO_APPROVAL = """\
version: 1
policy:
  approval: [free]
rules:
  - name: free
    requires: {approvals: 0}
"""
"""A gate that passes without review: a lax branch, a floor that asks nothing."""
