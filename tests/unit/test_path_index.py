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


def test_a_page_of_parts_counts_each_new_item_once():
    # Given an index that knows item 1
    index = PathIndex()
    index.add(candidate(1, "/media/a.mp4"))
    # When a page brings item 1 again, item 2 with two parts, and item 2's first part twice
    added = index.add_many([candidate(1, "/media/a.mp4"), candidate(2, "/media/b1.mp4"),
                            candidate(2, "/media/b2.mp4"), candidate(2, "/media/b1.mp4")])
    # Then only item 2 is new, its two parts are indexed once each, and item 1 is not doubled
    assert added == 1
    assert len(index) == 2
    assert [c.file for c in index.by_basename("b1.mp4")] == ["/media/b1.mp4"]
    assert len(index.by_path("/media/a.mp4")) == 1


def test_a_file_spelt_unlike_its_key_comes_back_as_plex_spells_it():
    # Given a case-insensitive index and a part Plex spells with capitals and a double slash
    index = PathIndex(case_insensitive=True)
    index.add(candidate(7, "/Media//Clip.MP4"))
    # When it is looked up by its normalised key
    found = index.candidates(["/media/clip.mp4"])
    # Then the candidate carries Plex's own spelling of the file
    assert [(c.rating_key, c.file) for c in found] == [(7, "/Media//Clip.MP4")]


def test_a_large_index_keeps_its_parts_off_the_python_heap():
    # Given 20,000 parts, each with a long path, added a page at a time
    import tracemalloc

    parts = [candidate(i, f"/media/studio {i % 50}/{i:06d} - a long scene title.mp4")
             for i in range(20_000)]
    tracemalloc.start()
    index = PathIndex()
    # When they are indexed
    for start in range(0, len(parts), 1000):
        index.add_many(parts[start:start + 1000])
    held = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    # Then the Python heap holds well under 50 bytes per part (Python objects took ~600)
    assert len(index) == 20_000
    assert held / len(parts) < 50
    assert index.by_path(index.key(parts[12_345].file))[0].rating_key == 12_345
