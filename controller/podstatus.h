/*
 * podstatus — why a child's pods are not coming up, when the reason will not
 * fix itself: an image that cannot be pulled, a container that cannot be
 * created, a container that keeps crashing.  Without this a DemoRun whose
 * sink image is misspelled shows SinkReady False/Progressing forever; with
 * it the condition names the pod, the container, the image and what the
 * kubelet said.
 *
 * pod_problem_find() is pure (a PodList in, a finding out) so that it is
 * unit-tested without a cluster; reconcile_demorun.c lists the run's pods and
 * turns the finding into the component's condition.
 */
#ifndef FLINKPG_PODSTATUS_H
#define FLINKPG_PODSTATUS_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct {
    const char *reason; /* the kubelet's waiting reason, e.g. "ImagePullBackOff" (static) */
    char message[480];  /* pod <p> container <c> image "<i>": <reason>: <kubelet's message> */
} pod_problem;

/* True when reason is a waiting reason that needs a person (ErrImagePull,
 * ImagePullBackOff, InvalidImageName, ErrImageNeverPull,
 * CreateContainerConfigError, CreateContainerError, CrashLoopBackOff).
 * ContainerCreating and PodInitializing are not: they pass by themselves. */
bool pod_reason_stuck(const char *reason);

/* True when a and b are the same trouble seen twice: equal, or both halves of
 * the kubelet's image pull retry (ErrImagePull <-> ImagePullBackOff), so that
 * a Warning is emitted once and not at every retry. */
bool pod_reasons_same_problem(const char *a, const char *b);

/* Look through pods (a PodList, as GET .../pods returns it) for a pod whose
 * label app.kubernetes.io/component is `component` and one of whose
 * containers (init containers first: they block the others) waits with a
 * stuck reason.  Pods being deleted are skipped.  Returns true and fills *out
 * for the first one found; false (out untouched) when there is none or the
 * list is malformed.  The message is cut to fit on a UTF-8 character
 * boundary, ending "..." when cut. */
bool pod_problem_find(const json_t *pods, const char *component, pod_problem *out);

#endif
