// Command mcptestserver runs the test MCP server over stdio. The MCP source's
// tests build it into a temporary directory and start it as a real child
// process.
//
//	-garbage     print non-JSON-RPC lines on stdout at start and from the noisy tool
//	-fail-start  write a message on stderr and exit 2 before speaking MCP
//	-sleep       do nothing but sleep (the grandchild started by the spawn tool)
//	-ignore-eof  keep running after stdin closes (the host must kill it)
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"os"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/flowweaver/flowweaver/backend/tools/mcp/internal/testserver"
)

func main() {
	garbage := flag.Bool("garbage", false, "print garbage on stdout")
	failStart := flag.Bool("fail-start", false, "exit at once with status 2")
	sleep := flag.Bool("sleep", false, "sleep forever")
	ignoreEOF := flag.Bool("ignore-eof", false, "keep running after stdin closes")
	failStartEnv := flag.String("fail-start-env", "", "exit at once with status 2, printing this environment variable on stderr")
	flag.Parse()
	switch {
	case *failStartEnv != "":
		fmt.Fprintf(os.Stderr, "mcptestserver: refusing to start, %s=%s\n", *failStartEnv, os.Getenv(*failStartEnv))
		os.Exit(2)
	case *sleep:
		for {
			time.Sleep(time.Hour)
		}
	case *failStart:
		fmt.Fprintln(os.Stderr, "mcptestserver: refusing to start (-fail-start)")
		os.Exit(2)
	}
	var noise io.Writer
	if *garbage {
		noise = os.Stdout
		fmt.Println("mcptestserver starting up, this banner is not JSON")
		fmt.Println(`{"hello": "not json-rpc either"}`)
	}
	s := testserver.New(testserver.Options{Name: "mcptestserver", Process: true, Noise: noise})
	err := s.Run(context.Background(), &sdk.StdioTransport{})
	for *ignoreEOF {
		time.Sleep(time.Hour) // a server that does not notice its host left
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "mcptestserver:", err)
		os.Exit(1)
	}
}
