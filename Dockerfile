# khronoscope's recorder image: `docker build -t khronoscope .`
# Two stages: wheels are built with pip in the first, the second only has Python and them.
FROM python:3.11-slim-bookworm AS build
WORKDIR /src
COPY pyproject.toml README.md LICENSE ./
COPY khronoscope ./khronoscope
RUN pip install --no-cache-dir --no-compile --prefix=/install .

FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HOME=/var/lib/khronoscope
COPY --from=build /install /usr/local
RUN groupadd --system --gid 10001 khronoscope \
 && useradd --system --uid 10001 --gid 10001 --home-dir /var/lib/khronoscope --create-home khronoscope
USER 10001:10001
WORKDIR /var/lib/khronoscope
EXPOSE 8080
# exec form: no shell runs at run time; signals reach khronoscope (SIGTERM: clean stop)
ENTRYPOINT ["python", "-m", "khronoscope"]
CMD ["record", "--help"]
