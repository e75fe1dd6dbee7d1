/**
 * The ECR repository CI pushes the mirror's image to (tagged with the commit): scanned on
 * push, old images expired so storage stays small.
 */
import * as aws from '@pulumi/aws';
import * as pulumi from '@pulumi/pulumi';

/** Images kept: enough to roll back a good way. */
export const KEEP_IMAGES = 30;

export class ImageRepository extends pulumi.ComponentResource {
  readonly repositoryUrl: pulumi.Output<string>;
  readonly repositoryArn: pulumi.Output<string>;

  constructor(name: string, args: Record<string, never> = {}, opts?: pulumi.ComponentResourceOptions) {
    super('docxy:aws:ImageRepository', name, args, opts);
    const repository = new aws.ecr.Repository(
      `${name}-repo`,
      {
        imageScanningConfiguration: { scanOnPush: true },
        // Mutable: re-running a deploy of the same commit pushes the same tag again.
        imageTagMutability: 'MUTABLE',
        encryptionConfigurations: [{ encryptionType: 'AES256' }],
      },
      { parent: this },
    );
    new aws.ecr.LifecyclePolicy(
      `${name}-lifecycle`,
      {
        repository: repository.name,
        policy: JSON.stringify({
          rules: [
            {
              rulePriority: 1,
              description: `keep the last ${KEEP_IMAGES} images`,
              selection: { tagStatus: 'any', countType: 'imageCountMoreThan', countNumber: KEEP_IMAGES },
              action: { type: 'expire' },
            },
          ],
        }),
      },
      { parent: this },
    );
    this.repositoryUrl = repository.repositoryUrl;
    this.repositoryArn = repository.arn;
    this.registerOutputs({ repositoryUrl: this.repositoryUrl, repositoryArn: this.repositoryArn });
  }
}
