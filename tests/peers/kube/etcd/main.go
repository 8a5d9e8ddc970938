// Command etcd is a minimal single-member etcd for the tests' control plane
// (see ../../kube.sh): the real etcd server through its embed package,
// listening only on 127.0.0.1, plain HTTP (the kube-apiserver is the only
// client). Flags mirror the few that etcd itself has for this.
package main

import (
	"flag"
	"log"
	"net/url"
	"os"
	"os/signal"
	"syscall"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
)

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		log.Fatalf("bad URL %q: %v", s, err)
	}
	return *u
}

func main() {
	dataDir := flag.String("data-dir", "default.etcd", "directory for the data")
	client := flag.String("listen-client-urls", "http://127.0.0.1:12379", "client URL")
	peer := flag.String("listen-peer-urls", "http://127.0.0.1:12380", "peer URL")
	quota := flag.Int64("quota-backend-bytes", 2<<30, "backend quota in bytes")
	logLevel := flag.String("log-level", "warn", "zap log level")
	flag.Parse()

	cfg := embed.NewConfig()
	cfg.Name = "flinkpg"
	cfg.Dir = *dataDir
	cu, pu := mustURL(*client), mustURL(*peer)
	cfg.ListenClientUrls = []url.URL{cu}
	cfg.AdvertiseClientUrls = []url.URL{cu}
	cfg.ListenPeerUrls = []url.URL{pu}
	cfg.AdvertisePeerUrls = []url.URL{pu}
	cfg.InitialCluster = cfg.Name + "=" + pu.String()
	cfg.QuotaBackendBytes = *quota
	cfg.LogLevel = *logLevel
	cfg.Logger = "zap"
	cfg.LogOutputs = []string{"stderr"}
	// Test data: trade durability for speed, and keep the history short.
	cfg.UnsafeNoFsync = true
	cfg.AutoCompactionMode = "periodic"
	cfg.AutoCompactionRetention = "5m"

	e, err := embed.StartEtcd(cfg)
	if err != nil {
		log.Fatalf("etcd: %v", err)
	}
	select {
	case <-e.Server.ReadyNotify():
		log.Printf("etcd ready on %s", cu.String())
	case <-time.After(60 * time.Second):
		e.Server.Stop()
		log.Fatal("etcd: not ready after 60s")
	}

	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	select {
	case s := <-sig:
		log.Printf("etcd: %v, stopping", s)
		e.Close()
	case err := <-e.Err():
		log.Fatalf("etcd: %v", err)
	}
}
