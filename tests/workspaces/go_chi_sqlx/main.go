package main

import (
	"log"
	"net/http"
	"os"

	"example.com/ledger/internal/store"
	"github.com/go-chi/chi/v5"
	"github.com/jmoiron/sqlx"
	_ "github.com/lib/pq"
)

func main() {
	db := sqlx.MustConnect("postgres", os.Getenv("DATABASE_URL"))
	accounts := store.NewAccounts(db)
	r := chi.NewRouter()
	r.Get("/accounts", func(w http.ResponseWriter, r *http.Request) {
		_ = accounts
		w.WriteHeader(http.StatusOK)
	})
	log.Fatal(http.ListenAndServe(":8080", r))
}
