package imagescan

import (
	"context"
	"fmt"
	"sort"

	"github.com/google/go-containerregistry/pkg/authn"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"redoubt.dev/redoubt/internal/image"
	"redoubt.dev/redoubt/internal/inventory"
)

// PullSecretKeychain reads the image pull secrets the snapshot's workloads name (in their pod
// templates and through their service accounts) and returns their credentials, with the names
// of those that could not be read. The snapshot holds Secrets as metadata only: this reads
// Secret values, so callers only do it when the user asks (--pull-secrets), and it needs RBAC
// `get` on those Secrets.
func PullSecretKeychain(ctx context.Context, client kubernetes.Interface, s *inventory.Snapshot) (authn.Keychain, []string) {
	want := map[[2]string]bool{}
	for _, w := range s.Workloads {
		for _, r := range w.Template.Spec.ImagePullSecrets {
			want[[2]string{w.Namespace, r.Name}] = true
		}
		if sa := s.ServiceAccount(w.Namespace, w.ServiceAccountName()); sa != nil && sa.ServiceAccount != nil {
			for _, r := range sa.ImagePullSecrets {
				want[[2]string{w.Namespace, r.Name}] = true
			}
		}
	}
	keys := make([][2]string, 0, len(want))
	for k := range want {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i][0]+"/"+keys[i][1] < keys[j][0]+"/"+keys[j][1] })
	var chains []authn.Keychain
	var problems []string
	for _, k := range keys {
		sec, err := client.CoreV1().Secrets(k[0]).Get(ctx, k[1], metav1.GetOptions{})
		if err != nil {
			problems = append(problems, fmt.Sprintf("pull secret %s/%s: %v", k[0], k[1], err))
			continue
		}
		data := sec.Data[corev1.DockerConfigJsonKey]
		if len(data) == 0 {
			data = sec.Data[corev1.DockerConfigKey]
		}
		if len(data) == 0 {
			problems = append(problems, fmt.Sprintf("pull secret %s/%s: no %s or %s key", k[0], k[1], corev1.DockerConfigJsonKey, corev1.DockerConfigKey))
			continue
		}
		kc, err := image.DockerConfigKeychain(data)
		if err != nil {
			problems = append(problems, fmt.Sprintf("pull secret %s/%s: %v", k[0], k[1], err))
			continue
		}
		chains = append(chains, kc)
	}
	chains = append(chains, authn.DefaultKeychain)
	return authn.NewMultiKeychain(chains...), problems
}
