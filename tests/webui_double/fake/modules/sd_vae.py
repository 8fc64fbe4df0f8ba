"""``modules.sd_vae`` stand-in: no VAE file loaded (name/hash None, as with "Automatic" + none found)."""

vae_dict: dict = {}
loaded_vae_file = None
reload_calls = 0


def get_loaded_vae_name():
    return None


def get_loaded_vae_hash():
    return None


def reload_vae_weights(sd_model=None, vae_file=None):
    global reload_calls
    reload_calls += 1
    return sd_model


def refresh_vae_list() -> None:
    pass
