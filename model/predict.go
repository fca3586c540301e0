package model

import "errors"

// Predict runs the model for one program, environment, request and
// scenario. It returns an error only for inputs outside the model (a Go
// version outside 1.10–1.27, an unknown network, contradictory build facts).
func Predict(env Env, prog Program, req Request, sc Scenario) (*Prediction, error) {
	return nil, errors.New("model: not implemented yet")
}
