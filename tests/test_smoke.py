from tests.ledger import factories as f


def test_post_and_read_balance(session):
    f.basic_chart(session)
    f.transfer(session, "bank", "wallet", 10_000, key="k1")
    session.commit()
    from lendbridge.ledger import service

    assert service.balance(session, "wallet").balance == 10_000
    assert service.balance(session, "bank").balance == 10_000
