"""Every GraphQL document stashplex sends to Stash.

They are explicit (no introspection, no generated fragments) so that responses stay small and
the test suite can validate each one against the real Stash schema. Add a query here, and
``tests/unit/test_stash_queries.py`` checks it automatically.
"""

from typing import Final

SCENE_FIELDS: Final = """
fragment SyncScene on Scene {
  id title code details director urls date rating100 organized created_at updated_at
  studio { id name parent_studio { id name } }
  performers { id name disambiguation }
  tags { id name }
  groups { group { id name } scene_index }
  files { id path basename size duration }
  paths { screenshot }
}
"""

FIND_SCENES_BY_IDS: Final = (
    """
query SyncScenesByIds($ids: [ID!]) {
  findScenes(ids: $ids, filter: {per_page: -1}) { count scenes { ...SyncScene } }
}
"""
    + SCENE_FIELDS
)

FIND_SCENES_PAGE: Final = (
    """
query SyncScenesPage($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { ...SyncScene } }
}
"""
    + SCENE_FIELDS
)

LINKED_SCENE_IDS: Final = """
query LinkedSceneIds($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id } }
}
"""

# Sorted by Stash as text (its ORDER BY on the stored strings), so across a DST fall-back the
# newest instant may not come first: the caller takes the newest of the page by instant.
LATEST_UPDATED_AT: Final = """
query LatestUpdatedAt {
  findScenes(filter: {per_page: 1000, sort: "updated_at", direction: DESC}) {
    count scenes { id updated_at }
  }
}
"""

# The catch-up listing: ids and stamps only, so re-listing the hour a DST change may repeat
# costs little; only the scenes stamped after the cursor (as instants) are then read in full.
SCENE_STAMPS_PAGE: Final = """
query SceneStampsPage($filter: FindFilterType, $scene_filter: SceneFilterType) {
  findScenes(filter: $filter, scene_filter: $scene_filter) { count scenes { id updated_at } }
}
"""

SCENE_FILES: Final = """
query SceneFilesPage($filter: FindFilterType) {
  findScenes(filter: $filter) { count scenes { id files { path } } }
}
"""

# Not ``findScenes(ids: ...)``: Stash ignores scene_filter whenever ids are given (its FindMany
# branch, internal/api/resolver_query_find_scene.go), so that would call every scene coverless.
# An id range narrows the filter instead; the caller keeps only the ids it asked about.
COVERLESS_SCENES: Final = """
query CoverlessScenes($low: Int!, $high: Int!) {
  findScenes(
    scene_filter: {is_missing: "cover", id: {value: $low, value2: $high, modifier: BETWEEN}}
    filter: {per_page: -1}
  ) {
    scenes { id }
  }
}
"""

PLUGIN_SETTINGS: Final = """
query PluginSettings($include: [ID!]) { configuration { plugins(include: $include) } }
"""

VERSION: Final = "query StashVersion { version { version } }"

ALL_QUERIES: Final = {
    "FIND_SCENES_BY_IDS": FIND_SCENES_BY_IDS,
    "FIND_SCENES_PAGE": FIND_SCENES_PAGE,
    "LINKED_SCENE_IDS": LINKED_SCENE_IDS,
    "LATEST_UPDATED_AT": LATEST_UPDATED_AT,
    "SCENE_STAMPS_PAGE": SCENE_STAMPS_PAGE,
    "SCENE_FILES": SCENE_FILES,
    "COVERLESS_SCENES": COVERLESS_SCENES,
    "PLUGIN_SETTINGS": PLUGIN_SETTINGS,
    "VERSION": VERSION,
}
