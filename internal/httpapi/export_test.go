package httpapi

// CleanHeader exposes cleanHeader to the fuzz target.
var CleanHeader = cleanHeader

// Patterns returns every route pattern the server registered, in order.
func (s *Server) Patterns() []string { return append([]string(nil), s.patterns...) }
