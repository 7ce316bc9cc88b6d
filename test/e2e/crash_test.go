package e2e

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// TestKillNineLosesNoAcknowledgedWrite writes ConfigMaps from several
// clients at once, kills the server with SIGKILL mid-stream, restarts it on
// the same data dir, and checks that every write the server acknowledged
// is there — twice over, so the second crash hits a recovered store.
func TestKillNineLosesNoAcknowledgedWrite(t *testing.T) {
	dataDir := t.TempDir()
	port := freePort(t)
	const writers, ackedBeforeKill = 8, 200
	var acked sync.Map
	total := 0
	for round := 0; round < 2; round++ {
		s := startAPIServer(t, dataDir, port)
		client := s.client(t)
		ctx, cancel := context.WithCancel(context.Background())
		var count atomic.Int64
		var wg sync.WaitGroup
		for w := 0; w < writers; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := 0; ctx.Err() == nil && i < 10000; i++ {
					name := fmt.Sprintf("r%d-w%d-%d", round, w, i)
					_, err := client.CoreV1().ConfigMaps("default").Create(ctx, &corev1.ConfigMap{
						ObjectMeta: metav1.ObjectMeta{Name: name},
						Data:       map[string]string{"round": fmt.Sprint(round)},
					}, metav1.CreateOptions{})
					if err == nil {
						acked.Store(name, true)
						count.Add(1)
					}
				}
			}()
		}
		err := wait.PollUntilContextTimeout(ctx, 10*time.Millisecond, 60*time.Second, true, func(context.Context) (bool, error) {
			return count.Load() >= ackedBeforeKill, nil
		})
		s.kill()
		cancel()
		wg.Wait()
		if err != nil {
			t.Fatalf("round %d: only %d writes acknowledged within 60s", round, count.Load())
		}
		total += int(count.Load())
	}

	s := startAPIServer(t, dataDir, port)
	list, err := s.client(t).CoreV1().ConfigMaps("default").List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	present := map[string]bool{}
	for _, cm := range list.Items {
		present[cm.Name] = true
	}
	missing := 0
	acked.Range(func(k, _ any) bool {
		if !present[k.(string)] {
			missing++
			t.Errorf("acknowledged ConfigMap %s lost after kill -9", k)
		}
		return missing < 20
	})
	t.Logf("%d acknowledged writes over two kill -9 rounds, %d present after restart", total, len(list.Items))
	s.stop(t)
}
