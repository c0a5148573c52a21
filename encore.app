{
	"id": "",
	"lang": "typescript",
	"global_cors": {
		"allow_origins_without_credentials": ["http://localhost:5173", "http://127.0.0.1:5173"],
		"allow_origins_with_credentials": ["http://localhost:5173", "http://127.0.0.1:5173"],
		"allow_headers": ["X-Request-Id"]
	}
}
