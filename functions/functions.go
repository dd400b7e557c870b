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

func init() {
	functions.HTTP("StartLogin", startLogin)
	functions.HTTP("CompleteLogin", completeLogin)
	functions.CloudEvent("ExtractLoad", extractLoad)
	functions.CloudEvent("Logout", logout)
}
