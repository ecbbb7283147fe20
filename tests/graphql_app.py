"""A small GraphQL schema (strawberry) for the %%graphql tests, served by tests/dataservers.py.

No ``from __future__ import annotations`` here: strawberry resolves the annotations itself.
"""

import strawberry


@strawberry.type
class Customer:
    name: str
    country: str


@strawberry.type
class Order:
    id: int
    amount: float
    customer: Customer


@strawberry.type
class Shop:
    name: str = "demo"

    @strawberry.field
    def orders(self, limit: int = 5) -> list[Order]:
        return [
            Order(id=i, amount=i * 1.5, customer=Customer(name=f"c{i}", country="DE"))
            for i in range(limit)
        ]


@strawberry.type
class Query:
    @strawberry.field
    def shop(self) -> Shop:
        return Shop()

    @strawberry.field
    def broken(self) -> list[int]:
        raise ValueError("the broken field always fails")


schema = strawberry.Schema(query=Query)
