module github.com/acme/inventory

go 1.22

require (
	github.com/gin-gonic/gin v1.9.1
	github.com/pressly/goose/v3 v3.18.0
	github.com/redis/go-redis/v9 v9.4.0
	gorm.io/driver/postgres v1.5.6
	gorm.io/gorm v1.25.7
)

require (
	github.com/jackc/pgx/v5 v5.5.3 // indirect
	github.com/mattn/go-sqlite3 v1.14.22 // indirect
	golang.org/x/crypto v0.19.0 // indirect
)
