from stashplex.plex.index import PathIndex, Section
from stashplex.sync.matching import PlexCandidate


def candidate(rating_key: int, file: str) -> PlexCandidate:
    return PlexCandidate(rating_key=rating_key, section_key=1, file=file, size=1, duration_ms=1)


def test_items_are_found_by_normalised_path_and_by_basename():
    index = PathIndex()
    index.add(candidate(1, "/media/a/scene.mp4"))
    index.add(candidate(2, "/media/b//scene.mp4"))
    assert [c.rating_key for c in index.by_path(index.key("/media/b/scene.mp4"))] == [2]
    assert sorted(c.rating_key for c in index.by_basename("scene.mp4")) == [1, 2]
    assert len(index) == 2


def test_adding_the_same_item_twice_changes_nothing():
    index = PathIndex()
    index.add(candidate(1, "/media/a.mp4"))
    index.add(candidate(1, "/media/a.mp4"))
    assert len(index.by_path("/media/a.mp4")) == 1


def test_a_removed_item_is_gone_from_every_table_and_others_stay():
    index = PathIndex()
    index.add(candidate(1, "/media/a/scene.mp4"))
    index.add(candidate(2, "/media/b/scene.mp4"))
    index.remove_item(1)
    assert index.by_path("/media/a/scene.mp4") == ()
    assert [c.rating_key for c in index.by_basename("scene.mp4")] == [2]
    assert len(index) == 1


def test_the_section_of_a_path_is_the_longest_matching_location():
    index = PathIndex()
    index.sections = {1: Section(1, "All", "movie", ("/media",)),
                      2: Section(2, "Clips", "movie", ("/media/clips/",))}
    assert index.section_for("/media/clips/x.mp4").key == 2
    assert index.section_for("/media/other/x.mp4").key == 1
    assert index.section_for("/elsewhere/x.mp4") is None
    assert index.section_for("/mediafiles/x.mp4") is None
