#!/usr/bin/env bash
# Deploy the dashboard to a stack deployed from template.yaml (after `sam deploy`):
#   infra/deploy-web.sh <stack name> [region]
# 1. builds web/ (npm ci + npm run build),
# 2. writes dist/config.json from the stack's outputs: the API's URL, and the Cognito hosted UI
#    endpoints and the dashboard's public app client (authorization code with PKCE; no secret),
# 3. uploads dist/ to the stack's web bucket (hashed assets cached for a year, index.html and
#    config.json never cached) and invalidates those two in CloudFront.
# Needs the AWS CLI with credentials for the account, Node.js and npm.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

stack="${1:?usage: infra/deploy-web.sh <stack name> [region]}"
region="${2:-${AWS_REGION:-$(aws configure get region 2>/dev/null || echo us-east-1)}}"

output() {
    aws cloudformation describe-stacks --region "$region" --stack-name "$stack" \
        --query "Stacks[0].Outputs[?OutputKey=='$1'].OutputValue" --output text
}
api_url="$(output ApiUrl)"
dashboard_url="$(output DashboardUrl)"
bucket="$(output WebBucketName)"
distribution="$(output WebDistributionId)"
auth_url="$(output AuthUrl)"
client_id="$(output WebUserPoolClientId)"
for v in api_url dashboard_url bucket distribution; do
    [[ -n "${!v}" && "${!v}" != "None" ]] || { echo "deploy-web: the stack has no output for $v (deployed from this template?)" >&2; exit 1; }
done
if [[ -z "$auth_url" || "$auth_url" == "None" ]]; then
    echo "deploy-web: the stack trusts an external issuer (JwtIssuer): write web/dist/config.json by hand" >&2
    echo "            with that provider's authorize_url, token_url and a public client id (docs/dashboard.md)" >&2
    exit 1
fi

(cd web && npm ci --no-audit --no-fund --loglevel=error && npm run -s build)

cat >web/dist/config.json <<JSON
{
  "api_base": "$api_url",
  "auth": {
    "mode": "oidc",
    "authorize_url": "$auth_url/oauth2/authorize",
    "token_url": "$auth_url/oauth2/token",
    "logout_url": "$auth_url/logout",
    "client_id": "$client_id",
    "redirect_uri": "$dashboard_url/",
    "scopes": "openid email"
  },
  "max_inline_file_bytes": 4194304
}
JSON

aws s3 sync --region "$region" web/dist/assets "s3://$bucket/assets" --delete \
    --cache-control "public, max-age=31536000, immutable"
for f in index.html config.json; do
    aws s3 cp --region "$region" "web/dist/$f" "s3://$bucket/$f" --cache-control "no-cache"
done
aws cloudfront create-invalidation --distribution-id "$distribution" --paths /index.html /config.json >/dev/null
echo "dashboard: $dashboard_url"
