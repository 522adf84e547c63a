module example.com/ledger

go 1.21

require github.com/go-chi/chi/v5 v5.0.12
require github.com/jmoiron/sqlx v1.3.5

require (
	github.com/golang-migrate/migrate/v4 v4.17.0
	github.com/lib/pq v1.10.9
)
