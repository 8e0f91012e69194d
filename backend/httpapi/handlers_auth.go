package httpapi

import (
	"net/http"
	"time"

	"github.com/flowweaver/flowweaver/backend/flow"
)

type tokenResponse struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expiresAt"`
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Code string `json:"code"`
	}
	if err := s.decodeJSON(w, r, &req); err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	if req.Code == "" {
		writeError(w, r, flow.Errorf(flow.EINVALID, "code is required"), s.cfg.Logger)
		return
	}
	tok, exp, err := s.cfg.Auth.Login(req.Code, s.cfg.TokenTTL)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{tok, exp.UTC()})
}

func (s *Server) refresh(w http.ResponseWriter, r *http.Request) {
	tok, exp, err := s.cfg.Auth.Refresh(BearerToken(r), s.cfg.TokenTTL)
	if err != nil {
		writeError(w, r, err, s.cfg.Logger)
		return
	}
	writeJSON(w, http.StatusOK, tokenResponse{tok, exp.UTC()})
}
