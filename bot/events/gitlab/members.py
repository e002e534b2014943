"""`Member Hook`: someone joined, left or changed role in a project or a group.

Roles are permissions to the policy, and groups are its teams, both kept in
the directory cache (`bot.store.directory_cache`) until they expire; a
membership change makes that cache wrong at once, so it is dropped:

- a project member event (`project_path_with_namespace`): the person's
  permission in that project is forgotten and the project's open MRs are
  marked;
- a group member event: everything cached about the person is forgotten
  (group access is inherited by subgroups and projects, and the payload's
  `group_path` does not always name the group's full path), and the open MRs
  of the projects under that path are marked.
"""

from __future__ import annotations

from bot.events.effects import DropCollaborator, DropPerson, MarkOwner, MarkRepo
from bot.events.gitlab.delivery import Delivery
from bot.events.payload import text
from bot.events.router import Routed, Router, do, ignore

router: Router[Delivery] = Router()


@router.register("Member Hook")
def member(d: Delivery) -> Routed:
    login = text(d.get("user_username"))
    if login is None:
        return ignore("the payload names no member")
    project = text(d.get("project_path_with_namespace"))
    if project is not None:
        return do(DropCollaborator(project, login), MarkRepo(project))
    group = text(d.get("group_path"))
    if group is None:
        return ignore("the payload names no project or group")
    return do(DropPerson(login), MarkOwner(group))
