// Package functions holds the pipeline's four Cloud Functions entry points and
// their wiring; the work itself is in the shared/ packages.
//
//	StartLogin    HTTP        Cloud Scheduler → login start, pending session
//	CompleteLogin HTTP        Apps Script webhook → login finish, session ready
//	ExtractLoad   CloudEvent  session-ready → tickets into BigQuery, load finished
//	Logout        CloudEvent  load-finished → web session ended
package functions

import (
	"github.com/GoogleCloudPlatform/functions-framework-go/functions"
)

// Each is wrapped so that a panic anywhere in it is one redacted ERROR line
// and a 500 (HTTP) or an error (events), never a raw stack (recover.go).
func init() {
	functions.HTTP("StartLogin", recoverHTTP("StartLogin", startLogin))
	functions.HTTP("CompleteLogin", recoverHTTP("CompleteLogin", completeLogin))
	functions.CloudEvent("ExtractLoad", recoverEvent("ExtractLoad", extractLoad))
	functions.CloudEvent("Logout", recoverEvent("Logout", logout))
}
