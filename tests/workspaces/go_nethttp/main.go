package main

import (
	"encoding/json"
	"log"
	"net/http"

	"github.com/google/uuid"
)

func health(w http.ResponseWriter, r *http.Request) {
	_ = json.NewEncoder(w).Encode(map[string]string{"status": "ok", "id": uuid.NewString()})
}

func main() {
	mux := http.NewServeMux()
	mux.HandleFunc("/health", health)
	log.Fatal(http.ListenAndServe(":8080", mux))
}
