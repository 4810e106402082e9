"""The progress board of restores (``actors/restores.py``): phases, percent, items/s and ETA."""

from dynamoray.actors.restores import DONE, FAILED, KEEP_FINISHED, READING, WRITING, RestoreBoard


def test_a_restore_goes_through_its_phases_with_rate_percent_and_eta():
    now = [1000.0]
    board = RestoreBoard(lambda: now[0])
    started = board.started("copy", "arn:backup", 900.0)
    assert (started.phase, started.percent(), started.eta(), started.rate()) == (READING, 0.0, None, 0.0)
    now[0] += 5
    board.writing("copy", 1000)
    now[0] += 2
    entry = board.advanced("copy", 250)
    assert (entry.phase, entry.percent(), entry.rate(), entry.eta()) == (WRITING, 25.0, 125.0, 6.0)
    wire = entry.to_wire()
    assert wire == {"TableName": "copy", "Source": "arn:backup", "RestoreDateTime": 900.0, "Phase": WRITING,
                    "ItemsRestored": 250, "ItemsTotal": 1000, "Percent": 25.0, "ItemsPerSecond": 125.0,
                    "EtaSeconds": 6.0, "StartedAt": 1000.0}
    now[0] += 6
    board.advanced("copy", 1000)
    done = board.finished("copy")
    assert (done.phase, done.percent(), done.eta(), done.rate()) == (DONE, 100.0, 0.0, 125.0)
    assert done.to_wire()["FinishedAt"] == 1013.0
    assert board.get("copy") == done and board.all() == [done]


def test_a_failed_restore_keeps_its_error_and_finished_ones_are_forgotten_after_an_hour():
    now = [0.0]
    board = RestoreBoard(lambda: now[0])
    board.started("a", "arn:a", 0.0)
    failed = board.failed("a", "RuntimeError('disk')")
    assert failed.phase == FAILED and failed.to_wire()["Error"] == "RuntimeError('disk')"
    now[0] += 1
    board.started("b", "arn:b", 0.0)
    assert [r.table for r in board.all()] == ["a", "b"]
    now[0] += KEEP_FINISHED + 1
    assert [r.table for r in board.all()] == ["b"]  # still running: kept
