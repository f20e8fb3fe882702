"""The forum's lists page with the kit's one cursor (communitykit.pagination, bound to the
list's collection, filters, sort and scope). This module only re-exports it for the handlers
that still import it from here (groups, moderation); new code imports the kit directly."""

from communitykit.pagination import page

__all__ = ["page"]
