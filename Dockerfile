# The allocation service (HTTP API + co-hosted Orleans silo) as a non-root Production image.
#
#   docker build -t allocation .
#   docker run -p 8080:8080 \
#     -e ConnectionStrings__Allocation='Host=db;Port=5432;Database=allocation;Username=allocation;Password=...' \
#     -e Identity__Authority='https://login.example.gov.uk/realms/children' -e Identity__Audience='allocation-api' \
#     allocation
#
# Production needs ConnectionStrings__Allocation (PostgreSQL): without it the service refuses to start, because
# the in-memory store would lose every allocation on restart. It needs the identity provider (Identity__Authority,
# Identity__Audience) too: Production has no demo sign-in. When several containers form one cluster, set
# Orleans__AdvertisedIP to the address other silos reach this container on (default 127.0.0.1; the silo listens there
# only), and give each the same Orleans__Tls__CertificatePath (a mounted .pfx) and Orleans__Tls__CertificatePassword:
# silo-to-silo traffic is mutual TLS. There is no Orleans gateway.

FROM --platform=$BUILDPLATFORM mcr.microsoft.com/dotnet/sdk:10.0 AS build
ARG TARGETARCH
WORKDIR /src

# Project files first, so the restore layer is reused until a dependency changes.
COPY global.json Directory.Build.props Directory.Packages.props Allocation.sln .editorconfig ./
COPY src/Allocation.Grains/Allocation.Grains.csproj src/Allocation.Grains/
COPY src/Allocation.Service/Allocation.Service.csproj src/Allocation.Service/
RUN dotnet restore src/Allocation.Service -a $TARGETARCH

COPY src/ src/
COPY seeds/ seeds/
# For the image's platform, so the service and its libraries are compiled ahead of time (ReadyToRun, see the project).
RUN dotnet publish src/Allocation.Service -c Release -a $TARGETARCH --self-contained false -o /app --no-restore

FROM mcr.microsoft.com/dotnet/aspnet:10.0
WORKDIR /app
COPY --from=build /app .

# ASPNETCORE_HTTP_PORTS is emptied so that ASPNETCORE_URLS alone decides the binding (no override warning).
ENV ASPNETCORE_URLS=http://+:8080 \
    ASPNETCORE_HTTP_PORTS= \
    ASPNETCORE_ENVIRONMENT=Production

# HTTP, and the Orleans silo port (for the other silos of the cluster only: keep it on the private network).
EXPOSE 8080 11111

# The image's built-in non-root user.
USER $APP_UID

# The image has no curl or wget: bash's /dev/tcp sends the request and the status line is checked.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/8080 && printf 'GET /health/live HTTP/1.0\\r\\n\\r\\n' >&3 && head -n 1 <&3 | grep -q ' 200 '"]

ENTRYPOINT ["dotnet", "Allocation.Service.dll"]
