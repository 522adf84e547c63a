package main

import (
	"os"

	"github.com/acme/inventory/internal/handlers"
	"github.com/gin-gonic/gin"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
)

func main() {
	db, err := gorm.Open(postgres.Open(os.Getenv("DATABASE_URL")), &gorm.Config{})
	if err != nil {
		panic(err)
	}
	router := gin.Default()
	handlers.Register(router, db)
	_ = router.Run(":8080")
}
