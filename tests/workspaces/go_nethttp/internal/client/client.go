package client

import "net/http"

// Ping is an HTTP client call: importing net/http alone does not make a server.
func Ping(url string) error {
	resp, err := http.Get(url)
	if err != nil {
		return err
	}
	return resp.Body.Close()
}
