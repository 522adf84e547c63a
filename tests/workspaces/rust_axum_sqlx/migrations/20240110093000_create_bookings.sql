CREATE TABLE bookings (
    id UUID PRIMARY KEY,
    room TEXT NOT NULL,
    starts_at TIMESTAMPTZ NOT NULL
);
