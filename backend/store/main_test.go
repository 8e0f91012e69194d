package store_test

import (
	"testing"

	"github.com/flowweaver/flowweaver/backend/store/storetest"
)

func TestMain(m *testing.M) { storetest.Main(m) }
