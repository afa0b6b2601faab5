"""The DuckDB demo warehouse: realistic sample sales data, made on first use.

With neither ``VENN_WAREHOUSE_URL`` nor ``SNOWFLAKE_ACCOUNT`` set, the SQL agent queries
``<VENN_DATA_DIR>/demo_warehouse.duckdb``. It holds four tables (``customers``,
``products``, ``orders``, ``order_items``, each column commented) covering the last 18
months up to today, so "Show me the top 10 customers by revenue last month" has an
answer right after ``make serve``.

The data is generated deterministically from a fixed seed: the same date gives the
same file, and a later date gives the same shape of data ending on that date. The file
is rebuilt when it was made on an earlier day (UTC), so "last month" stays meaningful.
It is written to a temporary file in the same directory and renamed into place, so
two processes starting at once never see (or leave) a half-written warehouse.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import random
import time
import uuid
from pathlib import Path
from typing import Any

log = logging.getLogger("venn.plugins.sql.demo")

__all__ = ["DEMO_FILE", "DEMO_TABLES", "build_demo", "demo_path", "ensure_demo", "generate"]

DEMO_FILE = "demo_warehouse.duckdb"
DEMO_TABLES = ("customers", "products", "orders", "order_items")
SEED = 20_240_601
MONTHS = 18
N_CUSTOMERS = 900
_CHUNK = 1000

_FIRST = (
    "Ava Liam Olivia Noah Emma Oliver Sophia Elijah Isabella Lucas Mia Mateo Amelia Levi Harper Ethan "
    "Evelyn James Luna Benjamin Camila Henry Gianna Sebastian Aria Jack Ella Aiden Nora Samuel Hazel "
    "Leo Zoe Owen Riley Daniel Layla Julian Lily Wyatt Aurora Hugo Ines Lena Jonas Marta Tomas Yuki "
    "Kenji Priya Arjun Chen Wei Fatima Omar Amara Kwame Sofia Diego Lucia Rafael Ingrid Lars Anouk"
).split()
_LAST = (
    "Smith Johnson Williams Brown Jones Garcia Miller Davis Rodriguez Martinez Hernandez Lopez Wilson "
    "Anderson Thomas Taylor Moore Jackson Martin Lee Perez Thompson White Harris Clark Lewis Walker "
    "Hall Allen Young King Wright Scott Green Baker Adams Nelson Hill Campbell Mitchell Roberts Carter "
    "Muller Schmidt Rossi Dubois Novak Silva Santos Tanaka Sato Kim Park Nguyen Patel Shah Okafor "
    "Mensah Haddad Larsen Jansen Kowalski Ferreira"
).split()
_DOMAINS = ("example.com", "example.org", "example.net")
_REGIONS = (
    ("North America", 34),
    ("Europe", 30),
    ("Asia Pacific", 20),
    ("Latin America", 10),
    ("Middle East & Africa", 6),
)
# category → (product names, price range)
_CATALOG = {
    "Laptops": (
        "Aero 13 Ultrabook|Aero 15 Pro|Forge 16 Workstation|Nimbus 14|Nimbus 14 Plus|Vector 17 Gaming",
        (749, 2899),
    ),
    "Monitors": ("Clarity 24 FHD|Clarity 27 QHD|Clarity 32 4K|Horizon 34 Ultrawide|Pulse 27 240Hz", (149, 899)),
    "Accessories": (
        "Glide Wireless Mouse|Glide Pro Mouse|Tactile Mechanical Keyboard|Slim Keyboard|USB-C Hub 7-in-1|"
        "Laptop Stand|Webcam 1080p|Webcam 4K|Noise-Cancelling Headset|Desk Mat XL|Thunderbolt Dock",
        (15, 289),
    ),
    "Storage": ("Swift SSD 1TB|Swift SSD 2TB|Vault HDD 4TB|Vault HDD 8TB|Pocket SSD 512GB|NAS Duo 2-Bay", (49, 549)),
    "Software": (
        "Office Suite Annual|Photo Studio Pro|Secure VPN Annual|Antivirus 3-Device|Cloud Backup 1TB Annual|"
        "Code Editor Pro",
        (29, 349),
    ),
    "Services": ("Extended Warranty 2y|Express Setup|Data Migration|On-site Repair Visit|Premium Support Annual",
                 (39, 399)),
    "Audio": ("Echo Earbuds|Echo Earbuds Pro|Studio Headphones|Desk Speakers|Conference Speakerphone", (39, 349)),
}

_COMMENTS: dict[str, tuple[str, dict[str, str]]] = {
    "customers": (
        "One row per customer account.",
        {
            "customer_id": "Unique customer identifier.",
            "name": "Customer's full name.",
            "email": "Contact email address.",
            "region": "Sales region: North America, Europe, Asia Pacific, Latin America or Middle East & Africa.",
            "created_at": "When the customer account was created (UTC).",
        },
    ),
    "products": (
        "The product catalog.",
        {
            "product_id": "Unique product identifier.",
            "name": "Product name.",
            "category": "Product category (Laptops, Monitors, Accessories, Storage, Software, Services, Audio).",
            "unit_price": "Current list price in USD.",
        },
    ),
    "orders": (
        "One row per order placed by a customer.",
        {
            "order_id": "Unique order identifier.",
            "customer_id": "The customer who placed the order (customers.customer_id).",
            "ordered_at": "When the order was placed (UTC).",
            "status": "pending, shipped, completed, cancelled or returned. Revenue usually counts "
            "shipped and completed orders.",
        },
    ),
    "order_items": (
        "Order lines: which products an order contains. Line revenue is quantity * unit_price.",
        {
            "order_id": "The order (orders.order_id).",
            "product_id": "The product (products.product_id).",
            "quantity": "Units ordered.",
            "unit_price": "Price per unit actually charged in USD (after any discount).",
        },
    ),
}

_DDL = """
CREATE TABLE customers (
    customer_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    email VARCHAR NOT NULL,
    region VARCHAR NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE TABLE products (
    product_id INTEGER PRIMARY KEY,
    name VARCHAR NOT NULL,
    category VARCHAR NOT NULL,
    unit_price DECIMAL(10, 2) NOT NULL
);
CREATE TABLE orders (
    order_id INTEGER PRIMARY KEY,
    customer_id INTEGER NOT NULL,
    ordered_at TIMESTAMP NOT NULL,
    status VARCHAR NOT NULL
);
CREATE TABLE order_items (
    order_id INTEGER NOT NULL,
    product_id INTEGER NOT NULL,
    quantity INTEGER NOT NULL,
    unit_price DECIMAL(10, 2) NOT NULL
);
"""


def demo_path(data_dir: str | Path) -> Path:
    return Path(data_dir) / DEMO_FILE


def _months_back(day: dt.date, months: int) -> dt.date:
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = (dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(year, month, min(day.day, last))


def generate(today: dt.date) -> dict[str, list[tuple[Any, ...]]]:
    """The demo rows for ``today``: deterministic (fixed seed), the last 18 months."""
    rng = random.Random(SEED)
    start = _months_back(today, MONTHS)
    days = (today - start).days + 1

    products = []
    pid = 0
    for category, (names, (low, high)) in _CATALOG.items():
        for name in names.split("|"):
            pid += 1
            price = round(rng.uniform(low, high), 0) - 0.01
            products.append((pid, name, category, round(price, 2)))

    regions = [r for r, _ in _REGIONS]
    weights = [w for _, w in _REGIONS]
    customers = []
    emails: set[str] = set()
    for cid in range(1, N_CUSTOMERS + 1):
        first, last = rng.choice(_FIRST), rng.choice(_LAST)
        email = f"{first}.{last}".lower()
        n = 1
        while f"{email}@{_DOMAINS[cid % 3]}" in emails:
            n += 1
            email = f"{first}.{last}{n}".lower()
        emails.add(f"{email}@{_DOMAINS[cid % 3]}")
        # Accounts open over the whole period, a third of them in the first two months.
        offset = int(rng.random() ** 1.6 * (days - 1))
        created = dt.datetime.combine(start + dt.timedelta(days=offset), dt.time()) + dt.timedelta(
            seconds=rng.randrange(86_400)
        )
        customers.append((cid, f"{first} {last}", f"{email}@{_DOMAINS[cid % 3]}",
                          rng.choices(regions, weights)[0], created))
    customers.sort(key=lambda c: c[4])
    # A few customers buy a lot (Pareto-like), most buy now and then.
    appetite = {c[0]: rng.paretovariate(1.3) for c in customers}

    orders: list[tuple[Any, ...]] = []
    items: list[tuple[Any, ...]] = []
    oid = 0
    joined = 0
    product_weights = [1.0 / (1 + i % 7) for i in range(len(products))]
    for d in range(days):
        day = start + dt.timedelta(days=d)
        day_start = dt.datetime.combine(day, dt.time())
        while joined < len(customers) and customers[joined][4] < day_start + dt.timedelta(days=1):
            joined += 1
        if joined == 0:
            continue
        pool = customers[:joined]
        pool_weights = [appetite[c[0]] for c in pool]
        growth = 1.0 + 0.8 * d / days
        weekend = 0.75 if day.weekday() >= 5 else 1.0
        count = max(1, int(rng.gauss(13 * growth * weekend, 3)))
        # Today's orders are the night's: placed before 06:00.
        seconds = 6 * 3600 if day == today else 86_400
        for _ in range(count):
            customer = rng.choices(pool, pool_weights)[0]
            at = day_start + dt.timedelta(seconds=rng.randrange(seconds))
            if at < customer[4]:
                at = customer[4] + dt.timedelta(minutes=rng.randrange(1, 120))
                if at.date() != day or (day == today and at.hour >= 6):
                    continue
            age = (today - day).days
            roll = rng.random()
            if age <= 2:
                status = "pending" if roll < 0.5 else "shipped" if roll < 0.9 else "cancelled"
            elif age <= 10:
                status = "shipped" if roll < 0.45 else "completed" if roll < 0.94 else "cancelled"
            else:
                status = "completed" if roll < 0.9 else "cancelled" if roll < 0.95 else "returned"
            oid += 1
            orders.append((oid, customer[0], at, status))
            for product in rng.sample(products, k=min(len(products), rng.choice((1, 1, 1, 2, 2, 3, 4)))):
                if rng.random() > product_weights[product[0] - 1] * 3:
                    continue
                quantity = rng.choice((1, 1, 1, 1, 2, 2, 3, 5))
                discount = rng.choice((0, 0, 0, 0, 0.05, 0.1))
                items.append((oid, product[0], quantity, round(product[3] * (1 - discount), 2)))
            if not items or items[-1][0] != oid:
                product = rng.choice(products)
                items.append((oid, product[0], 1, product[3]))
    customers.sort(key=lambda c: c[0])
    return {"customers": customers, "products": products, "orders": orders, "order_items": items}


def build_demo(path: str | Path, today: dt.date | None = None) -> Path:
    """Write the demo warehouse to ``path`` (atomically: a temporary file, then a rename)."""
    import duckdb

    path = Path(path)
    today = today or dt.datetime.now(dt.UTC).date()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
    started = time.monotonic()
    data = generate(today)
    try:
        conn = duckdb.connect(str(tmp))
        try:
            conn.execute(_DDL)
            for table, rows in data.items():
                width = len(rows[0])
                for i in range(0, len(rows), _CHUNK):
                    chunk = rows[i : i + _CHUNK]
                    marks = ",".join(["(" + ",".join(["?"] * width) + ")"] * len(chunk))
                    conn.execute(f"INSERT INTO {table} VALUES {marks}", [v for row in chunk for v in row])
            for table, (comment, columns) in _COMMENTS.items():
                conn.execute(f"COMMENT ON TABLE {table} IS {_literal(comment)}")
                for column, text in columns.items():
                    conn.execute(f"COMMENT ON COLUMN {table}.{column} IS {_literal(text)}")
            conn.execute("CHECKPOINT")
        finally:
            conn.close()
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, tmp.with_name(tmp.name + ".wal")):
            try:
                leftover.unlink()
            except FileNotFoundError:
                pass
    log.info(
        "demo warehouse built",
        extra={"path": str(path), "orders": len(data["orders"]), "seconds": round(time.monotonic() - started, 2)},
    )
    return path


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _built_on(path: Path) -> dt.date | None:
    try:
        return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).date()
    except FileNotFoundError:
        return None


def ensure_demo(data_dir: str | Path, today: dt.date | None = None) -> tuple[Path, bool]:
    """The demo warehouse's path, built first if it is missing or from an earlier day.
    Returns ``(path, built)``."""
    path = demo_path(data_dir)
    today = today or dt.datetime.now(dt.UTC).date()
    built_on = _built_on(path)
    if built_on is not None and built_on >= today:
        return path, False
    return build_demo(path, today), True
