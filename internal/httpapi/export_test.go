package httpapi

// CleanHeader exposes cleanHeader to the fuzz target.
var CleanHeader = cleanHeader
