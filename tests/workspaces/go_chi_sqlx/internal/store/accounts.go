package store

import "github.com/jmoiron/sqlx"

type Accounts struct{ db *sqlx.DB }

func NewAccounts(db *sqlx.DB) *Accounts { return &Accounts{db: db} }
