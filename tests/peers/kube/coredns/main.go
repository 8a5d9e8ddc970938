// A CoreDNS with only the plugins the test cluster's DNS uses: kubernetes
// (cluster.local records from the API server), bind, errors, log, health,
// ready and cache. CoreDNS registers each plugin from the package's init(), so
// importing a subset builds a server that knows only these.
package main

import (
	"github.com/coredns/coredns/coremain"
	_ "github.com/coredns/coredns/plugin/bind"
	_ "github.com/coredns/coredns/plugin/cache"
	_ "github.com/coredns/coredns/plugin/errors"
	_ "github.com/coredns/coredns/plugin/health"
	_ "github.com/coredns/coredns/plugin/kubernetes"
	_ "github.com/coredns/coredns/plugin/log"
	_ "github.com/coredns/coredns/plugin/ready"
)

func main() { coremain.Run() }
