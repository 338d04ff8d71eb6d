# notebot: the Slack bot (Socket Mode) answering from the notes in /srv/notebot/corpus.
#
#   docker build -t notebot .
#   docker run -d -e SLACK_BOT_TOKEN -e SLACK_APP_TOKEN -v "$PWD/notes:/srv/notebot/corpus:ro" notebot
#
# BASE is any Debian-like image with python3 (>= 3.10) and its venv module; without a registry,
# build on a local one: --build-arg BASE=localhost/pybase:bookworm (see README, "Deploy").
ARG BASE=python:3.11-slim-bookworm

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python3 -m venv /opt/notebot
WORKDIR /src
# Dependencies first, from pyproject.toml alone, so that a change to the code reuses this layer.
COPY pyproject.toml README.md ./
# (the stub packages' build output goes too: older than the stubs, the copied code would not
# replace it)
RUN mkdir -p index bot/importers \
    && touch index/__init__.py bot/__init__.py bot/importers/__init__.py \
    && /opt/notebot/bin/pip install --quiet . \
    && /opt/notebot/bin/pip uninstall --quiet --yes notebot \
    && rm -rf index bot build *.egg-info
COPY index/ index/
COPY bot/ bot/
# Not needed to run: pip and setuptools (the final stage gets no way to build anything), and the
# test suites that numpy and scipy ship.
RUN /opt/notebot/bin/pip install --quiet --no-deps . \
    && /opt/notebot/bin/pip uninstall --quiet --yes pip setuptools \
    && find /opt/notebot/lib -path '*/site-packages/*' -type d -name tests -prune -exec rm -rf {} +

FROM ${BASE}
RUN groupadd --gid 10001 notebot \
    && useradd --uid 10001 --gid notebot --no-create-home --home-dir /srv/notebot \
       --shell /usr/sbin/nologin notebot \
    && install -d -o notebot -g notebot /srv/notebot /srv/notebot/index /srv/notebot/data
COPY --from=build /opt/notebot /opt/notebot
COPY --chown=notebot:notebot corpus/ /srv/notebot/corpus/
ENV PATH=/opt/notebot/bin:$PATH \
    LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    NOTEBOT_CORPUS=/srv/notebot/corpus \
    NOTEBOT_INDEX=/srv/notebot/index \
    NOTEBOT_FEEDBACK_DB=/srv/notebot/data/feedback.sqlite3
USER 10001:10001
WORKDIR /srv/notebot
# The shipped notes are indexed now, so the first question is answered at once. This must come
# before VOLUME: what a build step writes into a declared volume is thrown away.
RUN notebot build
VOLUME ["/srv/notebot/corpus", "/srv/notebot/index", "/srv/notebot/data"]
# Notes and index, without calling Slack: an outage of Slack is not a fault of the container.
HEALTHCHECK --interval=5m --timeout=60s --start-period=2m CMD ["notebot", "doctor", "--offline"]
# Tokens come from the environment only: SLACK_BOT_TOKEN and SLACK_APP_TOKEN. --watch: notes
# changed in the mounted corpus are indexed at once, and the bot answers from the new index.
CMD ["notebot", "slack", "--watch"]
