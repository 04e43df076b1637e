// A rollback deploys the images that ran, not what their tags point to now (issue 17, item 2). The deploy
// note of the run rolled back to says, per service, the image id and its registry digest; a service
// whose tag has moved since is deployed from that id (still on this engine) or pulled by that digest.
// When neither is possible the rollback says so before it changes anything.
import type { DesiredStack, ImagePin, RanImage } from '../../shared/model.ts';
import type { DockerAdapter } from '../docker/docker-adapter.ts';
import { isDigestRef } from '../source/notes.ts';

const IMAGE_ID = /^sha256:[0-9a-f]{64}$/;

const short = (id: string): string => id.replace(/^sha256:/, '').slice(0, 12);

/**
 * What each service of `desired` must run to be as `ran` (a deploy note's images): the pins for the
 * services whose image reference no longer gives the image that ran, and the services for which that
 * image can be neither found nor pulled.
 */
export async function exactImages(
  docker: Pick<DockerAdapter, 'imageIdentity'>,
  desired: DesiredStack,
  ran: RanImage[],
): Promise<{ pins: ImagePin[]; problems: string[] }> {
  const pins: ImagePin[] = [];
  const problems: string[] = [];
  for (const service of desired.services) {
    const was = ran.find((r) => r.service === service.name);
    if (!was || !IMAGE_ID.test(was.id)) continue;
    const now = await docker.imageIdentity(service.image);
    if (now?.id === was.id) continue;
    const moved = now
      ? `${service.image} now points to ${short(now.id)}`
      : `${service.image} is not on this engine`;
    const pin = { service: service.name, tag: service.image, id: was.id, moved };
    const kept = await docker.imageIdentity(was.id);
    if (kept) {
      // The digest names it better than the bare id (`docker ps` shows it), where this engine knows it.
      const byDigest = was.digest && kept.digests.includes(was.digest) ? was.digest : null;
      pins.push({ ...pin, image: byDigest ?? was.id, pull: false });
    } else if (was.digest && isDigestRef(was.digest)) {
      pins.push({ ...pin, image: was.digest, pull: true });
    } else {
      problems.push(
        `${service.name} ran ${short(was.id)} (${was.image}); ${moved}, that image is no longer on this engine, and it has no registry digest to pull it by`,
      );
    }
  }
  return { pins, problems };
}

/** `desired` with each pinned service's image replaced by the pinned reference. */
export function pinImages(desired: DesiredStack, pins: ImagePin[]): DesiredStack {
  if (pins.length === 0) return desired;
  return {
    ...desired,
    services: desired.services.map((s) => {
      const pin = pins.find((p) => p.service === s.name);
      return pin ? { ...s, image: pin.image } : s;
    }),
  };
}
