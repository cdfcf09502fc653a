-- Demo data: a small outdoor-gear catalogue sold in USD and CAD, one US and one Canadian warehouse with
-- stock, a print station in each, and two customers (one per country). Ids are stable so docs and tests can
-- name them.

INSERT INTO customers (id, email, name, phone) VALUES
    ('cus-ava', 'ava.martin@example.com', 'Ava Martin', '+1 775 555 0101'),
    ('cus-liam', 'liam.tremblay@example.ca', 'Liam Tremblay', '+1 905 555 0199');

INSERT INTO customer_addresses (customer_id, kind, is_default, name, line1, line2, city, region, postal_code, country, phone) VALUES
    ('cus-ava', 'shipping', true, 'Ava Martin', '1600 Amphitheatre Pkwy', NULL, 'Mountain View', 'CA', '94043', 'US', '+1 775 555 0101'),
    ('cus-ava', 'billing', true, 'Ava Martin', '1600 Amphitheatre Pkwy', NULL, 'Mountain View', 'CA', '94043', 'US', '+1 775 555 0101'),
    ('cus-liam', 'shipping', true, 'Liam Tremblay', '290 Bremner Blvd', 'Unit 4', 'Toronto', 'ON', 'M5V 3L9', 'CA', '+1 905 555 0199'),
    ('cus-liam', 'billing', true, 'Liam Tremblay', '290 Bremner Blvd', 'Unit 4', 'Toronto', 'ON', 'M5V 3L9', 'CA', '+1 905 555 0199');

INSERT INTO products (sku, name, description, weight_grams, length_mm, width_mm, height_mm, returnable, return_window_days) VALUES
    ('TENT-2P',      'Ridgeline 2-Person Tent',     'Freestanding three-season tent.',          2100, 550, 180, 180, true,  30),
    ('BAG-20F',      'Summit 20F Sleeping Bag',     'Down sleeping bag rated to -7 C.',         1100, 400, 220, 220, true,  30),
    ('PAD-INS',      'Insulated Sleeping Pad',      'R-value 4.2 inflatable pad.',               520, 280, 110, 110, true,  30),
    ('STOVE-CAN',    'Canister Backpacking Stove',  'Piezo-ignition stove.',                     210, 120, 100,  90, true,  30),
    ('FUEL-230',     'Isobutane Fuel 230 g',        'Hazmat ground only.',                       380, 110, 110,  95, false,  0),
    ('FILTER-SQ',    'Squeeze Water Filter',        'Hollow-fibre filter, 0.1 micron.',          85, 150,  60,  40, true,  60),
    ('HEADLAMP-400', 'Headlamp 400 lm',             'Rechargeable, red mode.',                   90, 100,  80,  60, true,  30),
    ('PACK-55L',     'Trailhead 55 L Backpack',     'Adjustable torso frame pack.',             1450, 700, 350, 250, true,  45),
    ('SOCK-WOOL',    'Merino Hiking Socks',         'Worn items cannot be returned once opened.', 70, 200, 100,  30, true,  14),
    ('GIFT-CARD',    'Digital Gift Card',           'Never returnable.',                          1,  10,  10,   1, false,  0);

INSERT INTO product_prices (sku, currency, amount) VALUES
    ('TENT-2P', 'USD', 349.0000),      ('TENT-2P', 'CAD', 469.0000),
    ('BAG-20F', 'USD', 279.9500),      ('BAG-20F', 'CAD', 379.9500),
    ('PAD-INS', 'USD', 149.0000),      ('PAD-INS', 'CAD', 199.0000),
    ('STOVE-CAN', 'USD', 54.9500),     ('STOVE-CAN', 'CAD', 74.9500),
    ('FUEL-230', 'USD', 7.9900),       ('FUEL-230', 'CAD', 10.9900),
    ('FILTER-SQ', 'USD', 39.9500),     ('FILTER-SQ', 'CAD', 54.9500),
    ('HEADLAMP-400', 'USD', 49.9500),  ('HEADLAMP-400', 'CAD', 67.9500),
    ('PACK-55L', 'USD', 229.0000),     ('PACK-55L', 'CAD', 309.0000),
    ('SOCK-WOOL', 'USD', 24.9500),     ('SOCK-WOOL', 'CAD', 32.9500),
    ('GIFT-CARD', 'USD', 50.0000),     ('GIFT-CARD', 'CAD', 50.0000);

INSERT INTO inventory_locations (id, name, line1, city, region, postal_code, country, phone, priority) VALUES
    ('wh-reno', 'Reno Fulfillment Center', '1255 Gentry Way', 'Reno', 'NV', '89502', 'US', '+1 775 555 0150', 10),
    ('wh-mississauga', 'Mississauga Distribution Centre', '6300 Kennedy Rd', 'Mississauga', 'ON', 'L5T 2X5', 'CA', '+1 905 555 0150', 20);

INSERT INTO inventory_balances (location_id, sku, on_hand) VALUES
    ('wh-reno', 'TENT-2P', 40),        ('wh-mississauga', 'TENT-2P', 15),
    ('wh-reno', 'BAG-20F', 25),        ('wh-mississauga', 'BAG-20F', 20),
    ('wh-reno', 'PAD-INS', 60),        ('wh-mississauga', 'PAD-INS', 30),
    ('wh-reno', 'STOVE-CAN', 80),      ('wh-mississauga', 'STOVE-CAN', 40),
    ('wh-reno', 'FUEL-230', 200),      ('wh-mississauga', 'FUEL-230', 120),
    ('wh-reno', 'FILTER-SQ', 150),     ('wh-mississauga', 'FILTER-SQ', 75),
    ('wh-reno', 'HEADLAMP-400', 90),   ('wh-mississauga', 'HEADLAMP-400', 45),
    ('wh-reno', 'PACK-55L', 3),        ('wh-mississauga', 'PACK-55L', 2),
    ('wh-reno', 'SOCK-WOOL', 500),     ('wh-mississauga', 'SOCK-WOOL', 300),
    ('wh-reno', 'GIFT-CARD', 100000),  ('wh-mississauga', 'GIFT-CARD', 100000);

INSERT INTO print_stations (id, name, location_id, format, endpoint) VALUES
    ('ps-reno-1', 'Reno packing line 1 (Zebra ZD421)', 'wh-reno', 'zpl', NULL),
    ('ps-mississauga-1', 'Mississauga dock printer (PDF)', 'wh-mississauga', 'pdf', NULL);
