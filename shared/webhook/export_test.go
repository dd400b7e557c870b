package webhook

// Reasons lists every Error a Verifier can return, for the tests to check
// answers against.
var Reasons = []Error{
	errNoSecret, errTooLarge, errReadBody,
	errNoTimestamp, errBadTimestamp, errNoSignature, errBadSignature, errMismatch, errSkew,
	errNotJSON, errCodeMissing, errCodeMalformed, errReceivedMissing, errReceivedBad,
	errMessageMissing, errMessageBad, errSourceMissing, errSourceBad, errReplay,
}
