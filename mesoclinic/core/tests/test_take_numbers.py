from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from mesoclinic.core.models import Sequence
from mesoclinic.core.services import take_numbers


@pytest.mark.django_db
def test_it_hands_out_consecutive_numbers_without_gaps_in_one_transaction():
    with transaction.atomic():
        first = take_numbers("demo")
        block = take_numbers("demo", 3)
        last = take_numbers("demo")
    assert [*first, *block, *last] == [1, 2, 3, 4, 5]
    assert Sequence.objects.get(name="demo").last_value == 5


@pytest.mark.django_db
def test_it_keeps_each_named_sequence_separate():
    take_numbers("a", 10)
    assert list(take_numbers("b", 2)) == [1, 2]
    assert list(take_numbers("a")) == [11]


@pytest.mark.django_db
def test_it_gives_the_numbers_back_when_the_transaction_rolls_back():
    take_numbers("demo", 2)
    with pytest.raises(RuntimeError), transaction.atomic():
        take_numbers("demo", 5)
        raise RuntimeError("the registration failed after taking numbers")
    assert list(take_numbers("demo")) == [3]


@pytest.mark.django_db
def test_it_refuses_to_take_fewer_than_one_number():
    with pytest.raises(ValueError, match="at least 1"):
        take_numbers("demo", 0)
    assert not Sequence.objects.filter(name="demo").exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_twenty_connections_taking_numbers_at_once_never_get_the_same_number():
    take_numbers("race")  # the row exists, so every thread contends for the same lock
    start = threading.Barrier(20)
    taken: list[int] = []
    errors: list[BaseException] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            start.wait(timeout=10)
            for _ in range(3):
                with transaction.atomic():
                    numbers = list(take_numbers("race", 2))
                with lock:
                    taken.extend(numbers)
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert len(taken) == 20 * 3 * 2
    assert sorted(taken) == list(range(2, 2 + 120))
